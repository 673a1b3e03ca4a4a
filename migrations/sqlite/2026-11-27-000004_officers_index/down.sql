DROP INDEX users_role_university_idx;
