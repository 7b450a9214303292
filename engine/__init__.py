"""The model engine: profiles, hardware (NVML), the fit check, command lines, the EngineManager
state machine (start, switch, restart, roll back), engine processes, remote replicas, engine
metrics and the openai client. Knows nothing of users, storage or the UI."""
