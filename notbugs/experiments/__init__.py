"""One module per published experiment; each returns a results dict."""
