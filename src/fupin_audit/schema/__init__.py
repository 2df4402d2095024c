"""Column schemas and the analysers behind them."""
