"""Transports that carry a call's audio to and from one `AgentSession` (media-stream WebSocket, LiveKit room)."""
