"""The edge link: enrolment, the store-data feed, event ingestion and commands over gRPC."""
