"""Chat turns: admission (content rules and limits), validation, context fitting, streaming from
the engine with thinking split off, recording messages and usage, titles, answers that run on
the server, conversations and presets."""
