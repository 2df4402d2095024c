"""Reading: files → raw text tables that remember where every row came from."""
