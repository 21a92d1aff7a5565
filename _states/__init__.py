"""Salt loader folder (_states): pip maps it to saltext.scenario._states; Salt skips this file."""
