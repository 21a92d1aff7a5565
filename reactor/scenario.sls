{#- Hands the raw event to scenario.react, which checks it (sender, allowlist, size, shape)
    before anything runs. Nothing is decided here: a reactor SLS is easy to get wrong and
    the runner's checks are tested.
    Master config:
      reactor:
        - 'scenario/request':
          - salt://reactor/scenario.sls
      scenario_reactor_allow: [update_website]
      scenario_reactor_senders: ['web*']
    A minion asks with: salt-call event.send scenario/request '{"scenario": "update_website"}'
#}
scenario_request:
  runner.scenario.react:
    - args:
      - tag: {{ tag|json }}
      - data: {{ data|json }}
