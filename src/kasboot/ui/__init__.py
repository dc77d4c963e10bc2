"""Output: the live step list (rich), JSON documents, the wizard. Never called by steps."""
