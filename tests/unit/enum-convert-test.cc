// Proto enums <-> libvirt constants through the generated maps.
#include <gtest/gtest.h>

extern "C" {
#include <libvirt/libvirt.h>

#include "server/enum-convert.h"
#include "vg-enums.h"
#include "virtgrpc/v1/domain.pb-c.h"
}

namespace {

TEST(EnumConvertTest, FlagsBecomeALibvirtBitmask) {
    int values[] = {VIRTGRPC__V1__START_FLAG__START_FLAG_PAUSED,
                    VIRTGRPC__V1__START_FLAG__START_FLAG_AUTODESTROY};
    unsigned int flags = 0;
    int bad = 0;

    ASSERT_EQ(vg_enum_flags_to_libvirt(&vg_enum_start_flag, values, 2, &flags, &bad), 0);
    EXPECT_EQ(flags, unsigned(VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_AUTODESTROY));
}

TEST(EnumConvertTest, NoFlagsIsZero) {
    unsigned int flags = 0;
    int bad = 0;

    ASSERT_EQ(vg_enum_flags_to_libvirt(&vg_enum_undefine_flag, nullptr, 0, &flags, &bad), 0);
    EXPECT_EQ(flags, 0u);
}

TEST(EnumConvertTest, UnspecifiedAndUnknownValuesAreRejectedWithoutSideEffects) {
    unsigned int flags = 0x100;
    int bad = 0;
    int unspecified[] = {VIRTGRPC__V1__START_FLAG__START_FLAG_PAUSED,
                         VIRTGRPC__V1__START_FLAG__START_FLAG_UNSPECIFIED};
    int unknown[] = {VIRTGRPC__V1__START_FLAG__START_FLAG_PAUSED, 4242};

    EXPECT_EQ(vg_enum_flags_to_libvirt(&vg_enum_start_flag, unspecified, 2, &flags, &bad), -1);
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(vg_enum_flags_to_libvirt(&vg_enum_start_flag, unknown, 2, &flags, &bad), -1);
    EXPECT_EQ(bad, 4242);
    EXPECT_EQ(flags, 0x100u) << "flags are untouched on failure";
}

TEST(EnumConvertTest, StatesComeBackFromLibvirt) {
    EXPECT_EQ(vg_enum_from_libvirt(&vg_enum_domain_state, VIR_DOMAIN_RUNNING),
              VIRTGRPC__V1__DOMAIN_STATE__DOMAIN_STATE_RUNNING);
    EXPECT_EQ(vg_enum_from_libvirt(&vg_enum_domain_state, VIR_DOMAIN_NOSTATE),
              VIRTGRPC__V1__DOMAIN_STATE__DOMAIN_STATE_NOSTATE);
    EXPECT_EQ(vg_enum_from_libvirt(&vg_enum_shutoff_reason, VIR_DOMAIN_SHUTOFF_DESTROYED),
              VIRTGRPC__V1__SHUTOFF_REASON__SHUTOFF_REASON_DESTROYED);
    EXPECT_EQ(vg_enum_from_libvirt(&vg_enum_domain_state, 999), 0)
        << "a state newer libvirt adds is UNSPECIFIED, not a crash";
}

TEST(EnumConvertTest, SingleValuesConvertBothWays) {
    int64_t value = 0;

    ASSERT_EQ(vg_enum_to_libvirt(&vg_enum_list_domains_filter,
                                 VIRTGRPC__V1__LIST_DOMAINS_FILTER__LIST_DOMAINS_FILTER_PAUSED,
                                 &value),
              0);
    EXPECT_EQ(value, VIR_CONNECT_LIST_DOMAINS_PAUSED);
    EXPECT_EQ(vg_enum_to_libvirt(&vg_enum_list_domains_filter, 0, &value), -1);
}

TEST(EnumConvertTest, BitmasksExpandIntoValues) {
    int values[8];
    size_t n = vg_enum_flags_from_libvirt(
        &vg_enum_undefine_flag,
        VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_NVRAM | (1u << 30), values, 8);

    ASSERT_EQ(n, 2u) << "unknown bits are ignored";
    EXPECT_EQ(values[0], VIRTGRPC__V1__UNDEFINE_FLAG__UNDEFINE_FLAG_MANAGED_SAVE);
    EXPECT_EQ(values[1], VIRTGRPC__V1__UNDEFINE_FLAG__UNDEFINE_FLAG_NVRAM);
}

TEST(EnumConvertTest, EveryMappedValueHasADistinctLibvirtConstant) {
    const vg_enum_map *maps[] = {&vg_enum_start_flag, &vg_enum_undefine_flag,
                                 &vg_enum_list_domains_filter, &vg_enum_domain_state,
                                 &vg_enum_shutdown_mode, &vg_enum_destroy_flag};
    for (const vg_enum_map *map : maps) {
        for (size_t i = 0; i < map->n_entries; i++) {
            EXPECT_NE(map->entries[i].proto_value, 0) << map->full_name;
            for (size_t j = i + 1; j < map->n_entries; j++) {
                EXPECT_NE(map->entries[i].libvirt_value, map->entries[j].libvirt_value)
                    << map->full_name << ": " << map->entries[i].name << " and "
                    << map->entries[j].name;
            }
        }
    }
}

}  // namespace
