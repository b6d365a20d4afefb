/*
 * main() for dispatch-fuzz without libFuzzer (the normal gcc build, --config=asan):
 * runs each input file once, and every file of each directory argument, through
 * LLVMFuzzerTestOneInput. Options (-runs=N, ...) are libFuzzer's and are ignored, so
 * the one command line of dispatch-fuzz.sh works with both mains: with this one it
 * replays the seed corpus and the regression inputs.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t replayed;

static void
replay_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t size = 0;
    size_t capacity = 0;
    size_t n;

    if (!file) {
        perror(path);
        exit(1);
    }
    do {
        if (size == capacity) {
            capacity = capacity ? capacity * 2 : 4096;
            data = realloc(data, capacity);
            if (!data)
                abort();
        }
        n = fread(data + size, 1, capacity - size, file);
        size += n;
    } while (n > 0);
    fclose(file);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    replayed++;
}

static void
replay_path(const char *path)
{
    struct stat info;
    struct dirent **entries;
    int n;

    if (stat(path, &info) < 0) {
        perror(path);
        exit(1);
    }
    if (!S_ISDIR(info.st_mode)) {
        replay_file(path);
        return;
    }
    n = scandir(path, &entries, NULL, alphasort);
    if (n < 0) {
        perror(path);
        exit(1);
    }
    for (int i = 0; i < n; i++) {
        char child[4096];

        if (entries[i]->d_name[0] != '.') {
            snprintf(child, sizeof(child), "%s/%s", path, entries[i]->d_name);
            replay_path(child);
        }
        free(entries[i]);
    }
    free(entries);
}

int
main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-')
            replay_path(argv[i]);
    }
    printf("dispatch-fuzz: replayed %zu inputs (no libFuzzer in this build: "
           "--config=fuzz fuzzes)\n", replayed);
    return 0;
}
