"""The booth's uplink to the central MQTT broker: status, events, durable photo upload."""
