"""The pages a signed-in contact uses."""
