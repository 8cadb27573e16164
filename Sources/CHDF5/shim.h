#include <hdf5.h>
/* HDF5's type and flag "constants" are comma-expression macros that Swift cannot import;
   each is wrapped in a static inline function. */
static inline hid_t ch5_native_float(void)  { return H5T_NATIVE_FLOAT; }
static inline hid_t ch5_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t ch5_native_int32(void)  { return H5T_NATIVE_INT32; }
static inline hid_t ch5_native_int64(void)  { return H5T_NATIVE_INT64; }
static inline hid_t ch5_native_uint8(void)  { return H5T_NATIVE_UINT8; }
static inline hid_t ch5_c_s1(void)          { return H5T_C_S1; }
static inline hid_t ch5_ieee_f32le(void)    { return H5T_IEEE_F32LE; }
static inline hid_t ch5_ieee_f64le(void)    { return H5T_IEEE_F64LE; }
static inline hid_t ch5_std_i32le(void)     { return H5T_STD_I32LE; }
static inline hid_t ch5_std_i64le(void)     { return H5T_STD_I64LE; }
static inline hid_t ch5_std_u8le(void)      { return H5T_STD_U8LE; }
static inline hid_t ch5_p_default(void)     { return H5P_DEFAULT; }
static inline hid_t ch5_p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t ch5_s_all(void)         { return H5S_ALL; }
static inline unsigned ch5_f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned ch5_f_acc_excl(void)  { return H5F_ACC_EXCL; }
static inline unsigned ch5_f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned ch5_f_acc_rdwr(void)  { return H5F_ACC_RDWR; }
static inline hsize_t ch5_s_unlimited(void) { return H5S_UNLIMITED; }
static inline hid_t ch5_p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t ch5_p_link_create(void) { return H5P_LINK_CREATE; }
static inline size_t ch5_t_variable(void)   { return H5T_VARIABLE; }
static inline hid_t ch5_e_default(void)     { return H5E_DEFAULT; }
/* Number of attributes on an object, or -1 on failure (H5Oget_info2 fills only that field). */
static inline long long ch5_attribute_count(hid_t object) {
    H5O_info_t info;
    if (H5Oget_info2(object, &info, H5O_INFO_NUM_ATTRS) < 0) return -1;
    return (long long)info.num_attrs;
}
/* Copies the innermost description on the current HDF5 error stack into buffer (empty if none), then clears it. */
static inline herr_t ch5_error_walker(unsigned n, const H5E_error2_t *error, void *data) {
    char *buffer = (char *)((void **)data)[0];
    size_t capacity = *(size_t *)((void **)data)[1];
    if (n == 0 && error->desc != NULL && capacity > 0) {
        size_t i = 0;
        for (; i + 1 < capacity && error->desc[i] != 0; i++) buffer[i] = error->desc[i];
        buffer[i] = 0;
    }
    return 0;
}
static inline void ch5_last_error(char *buffer, size_t capacity) {
    if (capacity > 0) buffer[0] = 0;
    void *data[2] = { buffer, &capacity };
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, ch5_error_walker, data);
    H5Eclear2(H5E_DEFAULT);
}
/* Silence HDF5's automatic error-stack printing; the Swift wrapper reports errors itself. */
static inline void ch5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
/* 1 when the link `name` below `location` is a group, 0 for any other object, -1 on failure. */
static inline int ch5_is_group(hid_t location, const char *name) {
    H5O_info_t info;
    if (H5Oget_info_by_name2(location, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
    return info.type == H5O_TYPE_GROUP ? 1 : 0;
}
