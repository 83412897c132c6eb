"""The central office service: MQTT ingest, storage, dashboard and exports."""
