"""The scenario engine: parse -> match -> plan -> execute -> report."""
