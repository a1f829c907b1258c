"""The destinations that ship with destkit; each folder is one plugin, registered by entry point."""
