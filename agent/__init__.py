"""The real-time voice pipeline: STT, dialog, TTS, transports and the call runner."""
