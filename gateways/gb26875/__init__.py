"""GB/T 26875.3-2011: user information transmission devices (用户信息传输装置) reporting fire
alarm panels to the monitoring centre over TCP (docs/gateways.md, "GB/T 26875.3")."""
