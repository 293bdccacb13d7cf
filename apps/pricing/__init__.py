"""Effective-dated model prices, negotiated discounts and the rating function."""
