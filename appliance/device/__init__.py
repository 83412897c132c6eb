"""The booth as an appliance: provisioning, retention and health checks for technicians."""
