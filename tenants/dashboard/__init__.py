"""An event's dashboard for its organisers: server-rendered SVG charts, each with its data."""
