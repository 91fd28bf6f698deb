/* banned.h - turn unsafe libc calls into compile errors (after git's banned.h) */
#ifndef RV_BANNED_H
#define RV_BANNED_H

/*
 * Include this last in every .c file of the project. Each banned function
 * has a bounded replacement: snprintf or rv_buf for sprintf/strcat/strcpy,
 * strtok_r for strtok, fgets/getline for gets.
 */
#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)
#undef atoi
#define atoi(x) BANNED(atoi)

#endif
