"""Salt loader folder (_runners): pip maps it to saltext.scenario._runners; Salt skips this file."""
