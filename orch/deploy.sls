# A larger orchestration embedding a scenario: the deploy is the tested update of the website,
# and the announcement only goes out when it passed. A failing scenario fails its salt.runner
# state (the runner sets __context__["retcode"]), so `announce` never runs and
# `salt-run state.orchestrate orch.deploy` exits non-zero, like `salt-run scenario.run`.
#
#   salt-run state.orchestrate orch.deploy

update_website:
  salt.runner:
    - name: scenario.run
    - arg:
      - update_website

announce:
  salt.function:
    - name: test.echo
    - tgt: '*'
    - arg:
      - update_website deployed
    - require:
      - salt: update_website
