#!yaml
# Compiled by `salt-run scenario.compile update_website` at 2026-11-25T04:09:58Z
# from salt://features/update_website.feature (Feature: Update the production systems)
# Do not edit: compile again when the feature or the fleet changes.
# Target: G@roles:dev_server and G@country:de
# Pinned at compile time: web1, web2, web3
# Given steps (they shaped the target above and produce no state):
#   features/update_website.feature:3 Given the load balancer has ip address 198.51.100.10
#   features/update_website.feature:4 Given I want to update hosts with class roles::dev_server
#   features/update_website.feature:5 Given I want to update hosts with fact country=de
#   features/update_website.feature:6 Given I want to pre-discover how many hosts to update

'features/update_website.feature:9 When I block the load balancer':
  salt.function:
  - name: lbgate.block
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [198.51.100.10]
  - expect_minions: true
  - failhard: true

'features/update_website.feature:10 Then traffic from the load balancer should be blocked':
  salt.function:
  - name: lbgate.verify_blocked
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [198.51.100.10]
  - kwarg: {expected: true}
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website.feature:9 When I block the load balancer'}]

'features/update_website.feature:11 When I update the package mywebapp':
  salt.function:
  - name: pkgcheck.update
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [mywebapp]
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website.feature:10 Then traffic from the load balancer should be blocked'}]

'features/update_website.feature:12 Then the package version for mywebapp should be 4.2.6-3':
  salt.function:
  - name: pkgcheck.verify
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [mywebapp, 4.2.6-3]
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website.feature:11 When I update the package mywebapp'}]

'features/update_website.feature:13 When I restart the service mywebapp':
  salt.function:
  - name: service.restart
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [mywebapp]
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website.feature:12 Then the package version for mywebapp should be 4.2.6-3'}]

'features/update_website.feature:14 Then the service mywebapp should be running':
  salt.function:
  - name: service.status
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [mywebapp]
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website.feature:13 When I restart the service mywebapp'}]

'features/update_website.feature:15 Then the NRPE check check_web should pass within 10 seconds':
  salt.function:
  - name: nrpe.run
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [check_web]
  - expect_minions: true
  - failhard: true
  - retry: {attempts: 11, interval: 1}
  - require: [{salt: 'features/update_website.feature:14 Then the service mywebapp should be running'}]

'features/update_website.feature:16 Then the NRPE check check_load should pass':
  salt.function:
  - name: nrpe.run
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [check_load]
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website.feature:15 Then the NRPE check check_web should pass within 10 seconds'}]

'features/update_website.feature:17 When I unblock the load balancer':
  salt.function:
  - name: lbgate.unblock
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [198.51.100.10]
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website.feature:16 Then the NRPE check check_load should pass'}]

'features/update_website.feature:18 Then traffic from the load balancer should be unblocked':
  salt.function:
  - name: lbgate.verify_blocked
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - arg: [198.51.100.10]
  - kwarg: {expected: false}
  - expect_minions: true
  - failhard: true
  - require: [{salt: 'features/update_website.feature:17 When I unblock the load balancer'}]
