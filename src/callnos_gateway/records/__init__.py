"""A callnos batch made clean: the ieData parser and the record normalisation (pure: no Flask, no network)."""
