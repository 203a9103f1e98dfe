"""One module per page (or group of pages): routes that read with the service layer and
render a template."""
