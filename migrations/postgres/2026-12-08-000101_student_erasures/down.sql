DROP TABLE student_erasures;
