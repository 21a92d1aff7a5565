"""Salt loader folder (_modules): pip maps it to saltext.scenario._modules; Salt skips this file."""
