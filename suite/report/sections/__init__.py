"""The report's sections: each turns ranked runs into tables, notes and figures."""
