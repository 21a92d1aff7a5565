"""Feature files in: names checked, text read and decoded, Gherkin parsed into plain data."""
