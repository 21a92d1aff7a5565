"""What a run leaves behind, all built from its events and one return: the runner's return
data, progress lines, bus events, the journal, Cucumber JSON and JUnit XML reports."""
