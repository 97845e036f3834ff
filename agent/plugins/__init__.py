"""livekit-agents plugins backed by offline models (faster-whisper, Piper, espeak-ng)."""
