"""Salt loader folder (_output): pip maps it to saltext.scenario._output; Salt skips this file."""
