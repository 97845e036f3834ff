# Production image of Permanence: the console + call gateway (`permanence serve`) and the LiveKit worker.
# The LiveKit browser SDK (secretary hand-off in LiveKit mode) comes from the npm registry.
FROM node:20-bookworm-slim AS browser-sdk
ARG LIVEKIT_CLIENT_VERSION=2.23.0
WORKDIR /sdk
RUN npm pack --silent "livekit-client@${LIVEKIT_CLIENT_VERSION}" && tar -xzf livekit-client-*.tgz \
 && grep -v '^//# sourceMappingURL=' package/dist/livekit-client.umd.js > "livekit-client-${LIVEKIT_CLIENT_VERSION}.umd.js" \
 && cp package/LICENSE livekit-client-LICENSE.txt

FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng sox libsndfile1 curl \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 permanence
WORKDIR /app
COPY pyproject.toml README.md ./
COPY practice ./practice
COPY agent ./agent
COPY escalation ./escalation
COPY console ./console
COPY prompts ./prompts
COPY --from=browser-sdk /sdk/livekit-client-*.umd.js /sdk/livekit-client-LICENSE.txt ./console/static/vendor/
RUN pip install --no-cache-dir .

# A French Piper voice is fetched at build time in production images (none ships in the registries):
# pass PIPER_VOICE_URL to bake one in; without it the agent speaks French with espeak-ng.
ARG PIPER_VOICE_URL=""
RUN mkdir -p /voices && if [ -n "$PIPER_VOICE_URL" ]; then \
      curl -fsSL "$PIPER_VOICE_URL" -o /voices/fr.onnx && curl -fsSL "$PIPER_VOICE_URL.json" -o /voices/fr.onnx.json; \
    fi

USER permanence
ENV PERMANENCE_DATA_DIR=/home/permanence/data
# 8000: console + media-stream gateway; 8081: health of the LiveKit worker (`python -m agent start`)
EXPOSE 8000 8081
CMD ["permanence", "serve", "--host", "0.0.0.0", "--port", "8000"]
