"""Who is calling: bcrypt passwords, JWT sessions and their revocation, personal API keys,
accounts, sign-in rate limits, the session cookie, the /login page and Gradio's auth dependency."""
