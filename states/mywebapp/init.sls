{#-
  mywebapp: the web application at the version the deploy names, and its service running.

  Pillar:
    mywebapp:version   exact package version, e.g. 4.2.6-3. Unset: the package is installed
                       (the newest the repository offers) and an installed one is left as it is.

  salt web1 state.apply mywebapp pillar='{"mywebapp": {"version": "4.2.6-3"}}'
  features/update_website_states.feature deploys with this state.
-#}
{%- set version = salt['pillar.get']('mywebapp:version') %}

mywebapp-package:
  pkg.installed:
    - name: mywebapp
{%- if version %}
    # | json: a version such as 4.20 stays a string, whatever the pillar holds stays one scalar
    - version: {{ version | json }}
{%- endif %}

mywebapp-service:
  service.running:
    - name: mywebapp
    # A new package restarts the service, so it serves the new version.
    - watch:
      - pkg: mywebapp-package
