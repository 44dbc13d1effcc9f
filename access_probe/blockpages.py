"""Block-page knowledge as data (data/blockpages.yaml) and the matcher over it."""
