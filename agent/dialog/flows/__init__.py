"""The offline dialog engine's flows: one state machine per caller task, sharing one per-call state."""
