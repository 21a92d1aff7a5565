undefined_step_feature:
  salt.runner:
    - name: scenario.run
    - arg:
      - undefined_step

never_reached:
  salt.function:
    - name: test.ping
    - tgt: web1
    - require:
      - salt: undefined_step_feature
