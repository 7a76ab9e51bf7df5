"""One module per published experiment (``registry.REGISTRY`` lists them in order); ``lab`` holds the
steps they share and ``runner`` runs any of them into one results dict."""
