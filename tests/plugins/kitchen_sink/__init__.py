"""A test plugin implementing every xpm hook (entry module: ``kitchen_sink.plugin``)."""
