"""gpufleet-sim: a simulated fleet of bare-metal GPU servers.

Every node gets a Redfish BMC (HTTP and HTTPS), GPU telemetry in dcgm-exporter
format and, through starters registered on the fleet, IPMI / gNMI / Tinkerbell
worker faces.  Faults are injected live or from scenario files.
"""

__version__ = "0.1.0"
