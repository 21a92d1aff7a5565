"""Step definitions: typed parameters, the registry that matches step text, the built-in
steps and the site step libraries. Each matched When/Then step yields a SaltCall."""
