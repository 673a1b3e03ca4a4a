DROP TABLE cycle_input_counts;
