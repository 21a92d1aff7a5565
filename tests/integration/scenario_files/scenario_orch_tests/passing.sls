# A scenario embedded in an orchestration: its verdict is the state's result.
files_are_there:
  salt.runner:
    - name: scenario.run
    - arg:
      - files_check
