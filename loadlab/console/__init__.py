"""What a person sees in the terminal: the live progress of a run and its results table."""
