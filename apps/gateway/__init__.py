"""Gateway: the providers' APIs passed through, attributed, refused before spend and recorded."""
