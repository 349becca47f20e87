"""The widgets of Timeloom's browser: they render what the app gives them and post
messages upward; none of them talks to a checkpointer."""
