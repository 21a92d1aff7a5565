#!yaml
# Compiled by `salt-run scenario.compile update_website_states` at 2026-11-28T15:59:30Z
# from salt://features/update_website_states.feature (Feature: Update the production systems with their Salt state)
# Do not edit: compile again when the feature or the fleet changes.
# Target: G@roles:dev_server and G@country:de
# Pinned at compile time: web1, web2, web3
# Given steps (they shaped the target above and produce no state):
#   features/update_website_states.feature:7 Given the load balancer has ip address 198.51.100.10
#   features/update_website_states.feature:8 Given I want to update hosts with class roles::dev_server
#   features/update_website_states.feature:9 Given I want to update hosts with fact country=de
#   features/update_website_states.feature:10 Given I want to pre-discover how many hosts to update
# State steps. 'I apply the state'/'the highstate' compile to salt.state: Salt fails a minion
#   whose run has a state with result False, or errors instead of states. scenario.run also
#   fails a result None, which a minion returns only when it runs states in test mode
#   (test: True in its config); here that minion passes.
# 'the state X should be in place' compiles to statecheck.in_place: state.apply test=True on
#   the minion, retcode 1 when a state would change or fails, judged by the code scenario.run
#   uses. (salt.state with test: True would pass while changes are pending: result None.)

'features/update_website_states.feature:13 When I block the load balancer':
  salt.function:
  - name: lbgate.block
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [198.51.100.10]
  - expect_minions: true
  - failhard: true

'features/update_website_states.feature:14 Then traffic from the load balancer should be blocked':
  salt.function:
  - name: lbgate.verify_blocked
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [198.51.100.10]
  - kwarg: {expected: true}
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website_states.feature:13 When I block the load balancer'}]

'features/update_website_states.feature:15 When I apply the state mywebapp with pillar mywebapp:version=4.2.6-3':
  salt.state:
  - sls: mywebapp
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - pillar: {mywebapp: {version: 4.2.6-3}}
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website_states.feature:14 Then traffic from the load balancer should be blocked'}]

'features/update_website_states.feature:16 Then the package version for mywebapp should be 4.2.6-3':
  salt.function:
  - name: pkgcheck.verify
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [mywebapp, 4.2.6-3]
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website_states.feature:15 When I apply the state mywebapp with pillar mywebapp:version=4.2.6-3'}]

'features/update_website_states.feature:17 Then the state mywebapp should be in place':
  salt.function:
  - name: statecheck.in_place
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [mywebapp]
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website_states.feature:16 Then the package version for mywebapp should be 4.2.6-3'}]

'features/update_website_states.feature:18 Then the NRPE check check_web should pass within 10 seconds':
  salt.function:
  - name: nrpe.run
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [check_web]
  - expect_minions: true
  - failhard: true
  - retry: {attempts: 11, interval: 1}
  - require: [{salt: 'features/update_website_states.feature:17 Then the state mywebapp should be in place'}]

'features/update_website_states.feature:19 Then the NRPE check check_load should pass':
  salt.function:
  - name: nrpe.run
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [check_load]
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website_states.feature:18 Then the NRPE check check_web should pass within 10 seconds'}]

'features/update_website_states.feature:20 When I unblock the load balancer':
  salt.function:
  - name: lbgate.unblock
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [198.51.100.10]
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website_states.feature:19 Then the NRPE check check_load should pass'}]

'features/update_website_states.feature:21 Then traffic from the load balancer should be unblocked':
  salt.function:
  - name: lbgate.verify_blocked
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [198.51.100.10]
  - kwarg: {expected: false}
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website_states.feature:20 When I unblock the load balancer'}]
