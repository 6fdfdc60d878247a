"""What a run measured: the typed result of each point and the results folder it is kept in."""
